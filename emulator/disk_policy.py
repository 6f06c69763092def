"""Where zone-redundant managed disks exist.

Learn, "Deploy a managed disk that uses zone-redundant storage": ZRS disks (Premium_ZRS,
StandardSSD_ZRS) are available in every region with availability zones. The list below is Learn's
"Azure regions that support zone-redundant storage (ZRS)" (standard accounts), which names the same
zonal regions; it is data, so a region added later is one line here.
"""

from __future__ import annotations

from emulator.errors import ApiError

ZRS_SKUS = ("Premium_ZRS", "StandardSSD_ZRS")
ZRS_REGIONS = frozenset(
    {
        "southafricanorth",
        "australiaeast",
        "centralindia",
        "chinanorth3",
        "eastasia",
        "japaneast",
        "koreacentral",
        "southeastasia",
        "francecentral",
        "germanywestcentral",
        "italynorth",
        "northeurope",
        "norwayeast",
        "polandcentral",
        "spaincentral",
        "swedencentral",
        "switzerlandnorth",
        "uksouth",
        "westeurope",
        "israelcentral",
        "qatarcentral",
        "uaenorth",
        "canadacentral",
        "centralus",
        "eastus",
        "eastus2",
        "mexicocentral",
        "southcentralus",
        "usgovvirginia",
        "westus2",
        "westus3",
        "brazilsouth",
    }
)


def check_sku_region(sku: str, location: str) -> None:
    """400 when a ZRS SKU is asked for in a region without availability zones."""
    if sku in ZRS_SKUS and location.replace(" ", "").lower() not in ZRS_REGIONS:
        # Code and wording unconfirmed; Azure refuses the SKU in such regions.
        raise ApiError(
            400,
            "InvalidParameter",
            f"Storage account type '{sku}' is not supported in location '{location}': "
            "zone-redundant disks need a region with availability zones. Target: 'sku.name'.",
        )
