# README's example in Python, plus the reconciler's install.
from cdk8s import App, Chart
from cdk8s_azure import AzurePostgres, Reconciler, ResourceGroup, WebAppWithDb

app = App()
chart = Chart(app, "shop", namespace="shop")

db = AzurePostgres(chart, "db",
    metadata={"namespace": "shop"},
    resource_group=ResourceGroup(name="shop-rg", create=True),
    location="westeurope",
)
db.add_firewall_rule("aks-egress", start_ip_address="198.51.100.10", end_ip_address="198.51.100.10")
orders = db.add_database("orders")
orders_role = db.add_role("orders_app", database=orders)

WebAppWithDb(chart, "orders-api", image="example/orders-api:1.0.0", role=orders_role)

install = Chart(app, "install")
Reconciler(install, "reconciler", subscription_id="00000000-0000-0000-0000-000000000000")
app.synth()
