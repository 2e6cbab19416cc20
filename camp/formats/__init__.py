"""One way of writing dates and times in every language of the interface: 30.11.2026 14:05,
on a 24-hour clock, in the time zone of the staff member's site. Templates use the named
formats (``|date``, ``|date:"DATETIME_FORMAT"``, ``|time``), Python
``django.utils.formats.date_format``; machine formats (ISO in CSV/XLSX cells, query
strings, ``<time datetime>`` and form inputs) are data, not display, and stay ISO."""
