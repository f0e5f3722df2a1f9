"""Follow-up of the calls: exports of the instructor's lists (and, later, statistics and reports)."""
