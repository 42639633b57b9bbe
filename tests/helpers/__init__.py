"""Fixture helpers shared by the test folders: tiny local models and generated filings."""
