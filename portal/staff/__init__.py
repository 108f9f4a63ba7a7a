"""Staff pages (`/staff/...`): find companies and accounts, read them, and view the portal as a
customer (see `portal.impersonation`). Customers get 404 here (the STAFF rules hide the pages).
"""
