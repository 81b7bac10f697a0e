DROP TABLE certificate_documents;
