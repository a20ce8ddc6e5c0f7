"""Ingest doors: the ways submitters reach the pipeline besides the REST API.

Every door (watched folder, submitter SFTP server, S3, AMQP, JMS) turns what arrives into a
``Submission`` and hands it to one ``Intake``; every door answers through a ``ReplySink`` of its
own kind, addressed by the ``ReplyAddress`` recorded with the request. See ``door``.
"""
