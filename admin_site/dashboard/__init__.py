"""The home page: a role-aware dashboard of the shop's figures for a period, read from the daily summary that
the database keeps (revision 0008, models/dashboard.py); each figure and chart element links to its list."""
