"""Model versions as archives: zip packing/unpacking with safety checks, and the MySQL/Redis model store."""
