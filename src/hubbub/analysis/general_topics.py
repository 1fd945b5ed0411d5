"""The general care taxonomy: the default complaint topics for a brand of any industry.

Ten causes that recur across banks, carriers, shops, delivery apps and software (they follow the
usual top level of care taxonomies: money, the order, the product, the account, the people, time).
The airline topics (`topics.DEFAULT_TOPICS`) stay a preset for brands whose industry is airline.

Training rows (`train.fit_general_topic`), none of them from a held-out set:
- Bitext customer-support requests, by intent (`BITEXT_TOPIC`): orders, delivery, refunds, invoices,
  payment, account, cancellation, contact;
- airline complaints whose crowd reason maps onto a general cause (`AIRLINE_TOPIC`), down-weighted so
  airline vocabulary does not dominate;
- `SEED_EXAMPLES`: short complaints written for this taxonomy across industries, the only source for
  causes neither data set has (product quality, outages, price, waiting time).
"""

from __future__ import annotations

GENERAL_TOPICS = (
    "billing and payments",
    "orders and delivery",
    "returns and refunds",
    "account and login",
    "product quality",
    "technical problem or outage",
    "staff and service",
    "price",
    "waiting time",
    "cancellation",
)

BITEXT_TOPIC = {
    "check_invoice": "billing and payments",
    "get_invoice": "billing and payments",
    "check_payment_methods": "billing and payments",
    "payment_issue": "billing and payments",
    "place_order": "orders and delivery",
    "change_order": "orders and delivery",
    "track_order": "orders and delivery",
    "delivery_options": "orders and delivery",
    "delivery_period": "orders and delivery",
    "set_up_shipping_address": "orders and delivery",
    "change_shipping_address": "orders and delivery",
    "get_refund": "returns and refunds",
    "track_refund": "returns and refunds",
    "check_refund_policy": "returns and refunds",
    "create_account": "account and login",
    "delete_account": "account and login",
    "edit_account": "account and login",
    "recover_password": "account and login",
    "registration_problems": "account and login",
    "switch_account": "account and login",
    "cancel_order": "cancellation",
    "check_cancellation_fee": "cancellation",
    "contact_human_agent": "staff and service",
    "contact_customer_service": "staff and service",
}

AIRLINE_TOPIC = {
    "late flight": "waiting time",
    "long lines": "waiting time",
    "cancelled flight": "cancellation",
    "customer service issue": "staff and service",
    "flight attendant complaints": "staff and service",
}

SEED_EXAMPLES: dict[str, tuple[str, ...]] = {
    "billing and payments": (
        "I paid but the app says my payment did not go through",
        "why was I billed for premium when I cancelled it",
        "unauthorised charge on my card from you",
        "my direct debit bounced and you charged a late fee",
        "my debit card got declined again even though there is money in my account",
        "you charged me twice for the same month",
        "why is there a fee on my bill I never agreed to",
        "my card payment keeps failing",
        "I was overcharged on my last statement",
        "still waiting for you to fix the wrong amount on my invoice",
        "autopay took money from the wrong account",
        "my credit card was charged but the payment shows as pending",
    ),
    "orders and delivery": (
        "where is my package, it says out for delivery since monday",
        "courier says delivered, nothing at my door",
        "my order is stuck in processing for a week",
        "the restaurant never got my order but I paid",
        "the item in my order is not what I ordered",
        "my package was marked delivered but it's not here",
        "order still hasn't shipped after two weeks",
        "the driver left my parcel at the wrong address",
        "my food never arrived",
        "tracking hasn't updated in five days",
        "received the wrong item in my order",
        "half of my order was missing",
        "delivery was supposed to come today and nothing",
    ),
    "returns and refunds": (
        "still no refund for the item I returned a month ago",
        "you refused my return even though it's within 30 days",
        "where is my refund",
        "the return label doesn't work",
        "I was promised my money back and never got it",
        "refund was only partial",
    ),
    "account and login": (
        "I can't sign in, it says my password is wrong but I just reset it",
        "my account was suspended and nobody tells me why",
        "two factor code doesn't arrive so I'm locked out",
        "it keeps saying free account even though I pay for premium",
        "can't log into my account",
        "password reset email never arrives",
        "my account got locked for no reason",
        "someone hacked my account and changed the email",
        "the verification code never comes",
        "I keep getting logged out of the app",
    ),
    "product quality": (
        "found plastic in my burrito bowl",
        "the jacket ripped at the seam the first day",
        "the headphones stopped charging after a month",
        "my food arrived cold and soggy",
        "the phone I bought stopped working after a week",
        "the shoes fell apart after two wears",
        "this product is cheap and broke immediately",
        "the pizza was burnt and the fries were stale",
        "screen cracked on its own",
        "the quality has gone downhill, the coffee tastes awful now",
        "item arrived damaged and doesn't work",
        "the milk was expired",
    ),
    "technical problem or outage": (
        "since the latest update my phone keeps freezing",
        "the new update broke everything, the app won't open",
        "website just says it's busy and won't load",
        "console won't download the game, stuck at 62%",
        "my laptop keeps restarting after the update",
        "the app logs me out and shows an error code",
        "the game crashes every time I start it",
        "power outage in our street for six hours",
        "my keyboard is slow and the battery drains since the update",
        "checkout page gives an error and won't let me order",
        "internet has been down all day",
        "the app keeps crashing when I open it",
        "no signal at home for three days",
        "your website is down again",
        "the update broke the app, nothing loads",
        "streaming keeps buffering every few minutes",
        "error message every time I try to pay in the app",
        "service outage in my area, no phone or data",
        "wifi keeps dropping",
    ),
    "staff and service": (
        "I did, no response from anyone",
        "your support keeps sending me copy paste answers",
        "the manager refused to help and was condescending",
        "still no reply to my email after a week",
        "the agent on the phone was so rude",
        "your customer service is useless, nobody helps",
        "the cashier was extremely rude to me",
        "I've contacted support five times and no one answers",
        "the staff at the store ignored us",
        "chat support just closed my conversation",
        "your rep hung up on me",
    ),
    "price": (
        "why did my monthly price go up again",
        "way too expensive for what you get",
        "you raised prices without telling anyone",
        "the delivery fees are ridiculous",
        "prices are higher in the app than in the store",
        "the promo price disappeared at checkout",
        "paying more every year for the same plan",
    ),
    "waiting time": (
        "on hold for over an hour",
        "waited 45 minutes in line at the store",
        "been waiting three hours for a technician who never showed",
        "the queue on your helpline is endless",
        "took forever to get my order at the counter",
        "still waiting for a callback since yesterday",
        "my food took two hours",
    ),
    "cancellation": (
        "I want to cancel my subscription and you keep making it impossible",
        "how do I pause or cancel my phone line",
        "cancelled my membership but you still charged me",
        "you cancelled my order without telling me",
        "trying to cancel my contract for weeks",
        "my appointment was cancelled last minute",
        "can't find where to cancel my plan",
    ),
}

# Words that name a cause outright, in any industry. The taxonomy's classifier learned from few tweet-like
# rows and leans on whichever class its training mix favours; a text that names the cause gets that topic's
# log-probability raised by `CUE_BOOST` (`stages._boost`, as for journey stages), the classifier still decides
# between several named causes. Chosen on a 28-tweet sample of TWCS complaints (docs/analysis.md).
TOPIC_CUES: dict[str, str] = {
    "billing and payments": r"\b(charg\w*|bill(ed|ing)?|payments?|paid|pay|invoice|debit|credit card|card|fees?)\b",
    "orders and delivery": r"\b(orders?|ordered|packages?|parcels?|deliver\w*|shipp\w*|tracking|courier|arriv\w*)\b",
    "returns and refunds": r"\b(refund\w*|return(ed|s)?|money back|reembolso)\b",
    "account and login": r"\b(log ?in|logged|sign ?in|password|accounts?|locked|verification|hacked|premium)\b",
    "product quality": r"\b(quality|broken|broke|damaged|cold|stale|soggy|plastic|ripped|defect\w*|faulty|expired)\b",
    "technical problem or outage": r"\b(update\w*|crash\w*|errors?|bug\w*|glitch\w*|freez\w*|outage|down|signal|wi-?fi|"
    r"internet|won'?t load|not loading|download\w*|website|app|reboot|restart\w*)\b",
    "staff and service": r"\b(rude|staff|agents?|manager|no (response|reply|answer)|customer service|ignor\w*|"
    r"hung up|unhelpful)\b",
    "price": r"\b(prices?|pricing|expensive|overpriced|costs?|\$\d+)\b",
    "waiting time": r"\b(on hold|waiting|waited|queue|hours? (late|wait)|still waiting|took forever)\b",
    "cancellation": r"\b(cancel\w*|unsubscribe|pause my)\b",
}
CUE_BOOST = 1.5
