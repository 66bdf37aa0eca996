"""The admin's views: ShopView and its inferred defaults, the shop's declared views, custom pages.

`registry.all_views()` gives one view per mapped model; nothing is imported here, so importing a
module of this package never loads every view.
"""
