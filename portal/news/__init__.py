"""News items that staff admins publish and the customers' dashboard lists."""
