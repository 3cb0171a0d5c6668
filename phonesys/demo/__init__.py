"""``phonesys demo``: a demo organization, CSV files with the mistakes real ones have, and the scenario
that drives them through the same entry points the CLI, the flows and the drop folder use. Nothing in
the library imports it."""
