"""One module per dataset folder in ../shared/data: its registry entry (`INFO`) and `read`."""
