"""The evidence catalog: the reviews and trials every recommendation cites, as data."""
