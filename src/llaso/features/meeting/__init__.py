"""`llaso meeting`: a recording -> timestamped transcript, speaker turns, summary, decisions,
action items and the tone of each turn, as Markdown and JSON."""
