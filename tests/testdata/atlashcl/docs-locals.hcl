locals {
  tenants  = ["tenant_1", "tenant_2"]
  base_url = "mysql://${var.user}:${var.pass}@${var.addr}"

  // Reference local values.
  db1_url  = "${local.base_url}/db1"
  db2_url  = "${local.base_url}/db2"
}
