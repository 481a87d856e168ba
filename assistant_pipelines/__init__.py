"""assistant_pipelines: meeting transcripts, mail and tickets into tracked action items."""
