"""Monitors as code: an organization's configuration as one YAML document.

``document`` parses the text (every value keeps its line, ``${NAME}`` references
resolve there), ``export`` writes the document from the store, ``apply`` makes the
store match it in one transaction, validating through the same functions as the
REST API (``api.monitor_input``, ``api.channel_input``, ``api.maintenance_input``,
``api.status_page_input``). One module per section (``channels``, ``monitors``,
``maintenance``, ``status_pages``) exports and applies its own resources.
The format is described in docs/monitors-as-code.md.
"""
