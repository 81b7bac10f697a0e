DROP TABLE appeal_files;
DROP TABLE appeals;
