env "local" {
  migration {
    dir = "file://migrations"
  }
}
