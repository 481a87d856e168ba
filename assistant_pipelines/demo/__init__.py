"""Bundled demo data: a fictional team ("Northwind Labs") shipping Harbor 2.0 over four weeks.

``inbox/`` holds meeting transcripts, e-mail and tracker exports in the real-world shapes the
parsers accept (plus three deliberately broken files); ``people.yaml`` seeds the directory.
README.md tells the story and lists every file.
"""
