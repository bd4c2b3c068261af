-- Each tenant database holds its own projects and tasks
CREATE TABLE projects (
  id INTEGER PRIMARY KEY,
  name VARCHAR(200) NOT NULL
);
