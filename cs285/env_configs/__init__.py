"""Base configs of the course's YAML experiments (hw3 on): one ``Param`` table per ``base_config`` name."""
