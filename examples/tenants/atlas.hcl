// The same tenants from the command line, the way an Atlas project describes them:
//   pulumi-migrations status --env tenants
//   pulumi-migrations apply  --env tenants --parallel 3
//   pulumi-migrations apply  --env tenants --var tenants=acme --var tenants=umbrella
// With a server: --var url_template='postgres://app:PW@127.0.0.1:5432/{tenant}?sslmode=disable'
variable "tenants" {
  type    = list(string)
  default = ["acme", "globex", "initech"]
}

variable "url_template" {
  type    = string
  default = "sqlite://tenant_{tenant}.db"
}

env "tenants" {
  for_each = toset(var.tenants)
  url      = replace(var.url_template, "{tenant}", each.value)
  migration {
    dir = "file://migrations"
  }
}
