"""What a seeded shop is made of: category tree, product words, names, countries, statuses, notes."""

from __future__ import annotations

from itertools import accumulate

# Top-level category -> child category -> nouns of the products sold in it.
CATEGORY_TREE: dict[str, dict[str, tuple[str, ...]]] = {
    "Electronics": {
        "Phones & Tablets": ("Smartphone", "Tablet", "Phone Case"),
        "Computers": ("Laptop", "Keyboard", "Monitor"),
        "Audio": ("Headphones", "Speaker", "Earbuds"),
    },
    "Clothing": {
        "Men's Clothing": ("Shirt", "Jacket", "Chinos"),
        "Women's Clothing": ("Dress", "Blouse", "Cardigan"),
        "Shoes": ("Sneakers", "Boots", "Sandals"),
    },
    "Home & Kitchen": {
        "Cookware": ("Frying Pan", "Saucepan", "Dutch Oven"),
        "Furniture": ("Desk Chair", "Bookshelf", "Side Table"),
        "Bedding": ("Duvet", "Pillow", "Sheet Set"),
    },
    "Sports & Outdoors": {
        "Fitness": ("Yoga Mat", "Dumbbell Set", "Kettlebell"),
        "Cycling": ("Bike Helmet", "Bike Light", "Water Bottle"),
        "Camping": ("Tent", "Sleeping Bag", "Camping Stove"),
    },
    "Books": {
        "Fiction": ("Novel", "Thriller", "Short Stories"),
        "Non-Fiction": ("Cookbook", "Biography", "Travel Guide"),
        "Children's Books": ("Picture Book", "Activity Book", "Bedtime Stories"),
    },
    "Beauty": {
        "Skincare": ("Face Cream", "Serum", "Cleanser"),
        "Makeup": ("Lipstick", "Mascara", "Foundation"),
        "Fragrance": ("Eau de Parfum", "Body Mist", "Eau de Toilette"),
    },
}
LEAF_NOUNS = {leaf: nouns for children in CATEGORY_TREE.values() for leaf, nouns in children.items()}
GENERIC_NOUNS = ("Gift Set", "Bundle", "Accessory", "Starter Kit")  # for categories someone else made
ADJECTIVES = (
    "Classic",
    "Premium",
    "Essential",
    "Compact",
    "Deluxe",
    "Eco",
    "Pro",
    "Everyday",
    "Vintage",
    "Ultra",
    "Smart",
    "Organic",
    "Lightweight",
    "Heritage",
)
DESCRIPTIONS = (
    "A {name} built to last, with a two-year warranty.",
    "Our best-selling {name}: customers love it for everyday use.",
    "The {name} in a new, more sustainable edition.",
)
FIRST_NAMES = (
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Sarah",
    "Lukas",
    "Emma",
    "Mateo",
    "Sofía",
    "Noah",
    "Zoë",
    "Liam",
    "Olivia",
    "José",
    "Chloé",
    "Arjun",
    "Priya",
    "Wei",
    "Yuki",
    "Ahmed",
    "Fatima",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "O'Brien",
    "Müller",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Kim",
    "Patel",
    "Singh",
    "Jansen",
    "Larsen",
    "Novák",
    "Fernández",
    "Chen",
)
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "PL", "SE", "CA", "AU", "IE", "BE", "AT", "DK")
COUNTRY_WEIGHTS = (30, 14, 12, 9, 6, 5, 5, 4, 3, 4, 3, 2, 1, 1, 1)

STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
STATUS_CUM = tuple(accumulate((6, 10, 14, 58, 8, 4)))
SHIPPED_STATUSES = frozenset({"shipped", "delivered", "refunded"})
# An order placed over SETTLED_AFTER_DAYS ago has moved on (pending → cancelled, paid or shipped → delivered), but
# for one in STUCK_EVERY placed within STUCK_DAYS: the backlog staff chase ("to ship now" on the dashboard).
SETTLED = {"pending": "cancelled", "paid": "delivered", "shipped": "delivered"}
SETTLED_AFTER_DAYS, STUCK_DAYS, STUCK_EVERY = 14, 90, 20
DISCOUNTS, DISCOUNT_CUM = ("0.00", "5.00", "10.00", "15.00"), tuple(accumulate((84, 8, 5, 3)))
SHIPPING_FEES, SHIPPING_CUM = ("0.00", "4.95", "7.50", "12.00"), tuple(accumulate((35, 40, 20, 5)))
NOTES = (
    "Leave at the front door.",
    "Gift wrap, please.",
    "Call before delivery.",
    "Deliver to the neighbour\nat number 12 if nobody is home.",
)
ITEM_COUNTS, ITEM_COUNT_CUM = (1, 2, 3, 4, 5), tuple(accumulate((16, 22, 26, 20, 16)))  # average ~3
QUANTITIES, QUANTITY_CUM = ("1", "2", "3", "4", "5", "10"), tuple(accumulate((72, 15, 6, 3, 3, 1)))
