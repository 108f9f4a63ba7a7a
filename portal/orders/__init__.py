"""Orders: the company's cart of renewals and extra seats, orders, and the vendor's handling."""
