"""A sweep checked before it launches: the sweeper's and launcher's settings, every job's
composed config and folder, and the values a sweep draws or lists."""
