"""Back-office admin for the web shop: Starlette + SQLAdmin over the models in `models`."""
