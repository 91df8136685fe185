"""What a setting may hold: the override text of the command line, the kinds of the
composed schema's keys, and refused values shown as the user typed them."""
