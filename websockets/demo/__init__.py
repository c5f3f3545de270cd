"""What ``manage.py rundemo`` is made of: addresses and environment, set-up, processes."""
