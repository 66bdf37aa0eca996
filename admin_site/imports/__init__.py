"""Import from a spreadsheet: upload → a preview that writes nothing → a confirmation applied once, in one
transaction (README, *Import from a spreadsheet*).

reading, xlsx_reading: the file as rows of text (CSV, XLSX), defended against hostile files; plan: what the header
means for a view; checking: each cell by the forms' validators; staging: the rows kept in PostgreSQL between the
two steps; preview: every row decided in set-based SQL; apply: the confirmation; shown, pages: what people see.
"""
