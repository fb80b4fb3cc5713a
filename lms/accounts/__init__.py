"""Accounts: learner profiles (country, language, centre, consent), roles and training centres."""
