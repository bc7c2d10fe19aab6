"""Synthetic customer-churn data for the continuous-training demo, deterministic by seed.

Month 0 is the training data. Month 1 drifts the way real subscription data does (prices rise, more
month-to-month contracts, more support calls): the inputs move, the churn rate follows, and a model
trained on month 0 still ranks customers as well (harmless drift). From month 2 a new payment method,
``wallet``, brings customers the month-0 model is unsure about (middling tenure and charges) and whose
staying depends on their age: the model degrades, its confidence says so before any label arrives,
and a model retrained with them wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENTS = ["card", "bank-transfer", "e-check", "mailed-check"]


def churn_frame(rows: int = 10_000, *, month: int = 0, seed: int = 0, labelled: bool = True) -> Any:
    """One month of customers; ``month`` > 0 shifts prices, contracts and support load."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed * 1000 + month)
    shift = float(min(month, 1))
    contract_p = np.array([0.45 + 0.12 * shift, 0.30 - 0.06 * shift, 0.25 - 0.06 * shift]).clip(0.02)
    contract = rng.choice(CONTRACTS, rows, p=contract_p / contract_p.sum())
    tenure = rng.integers(1, 73, rows)
    charges = (rng.normal(65 + 12 * shift, 18, rows)).clip(18, 160).round(2)
    calls = rng.poisson(1.2 + 0.9 * shift, rows)
    age = rng.integers(18, 81, rows)
    if month < 2:
        payment = rng.choice(PAYMENTS, rows, p=[0.35, 0.25, 0.3, 0.1])
        wallet = np.zeros(rows, dtype=bool)
    else:
        payment = rng.choice([*PAYMENTS, "wallet"], rows, p=[0.12, 0.08, 0.1, 0.05, 0.65])
        wallet = payment == "wallet"
        contract = np.where(wallet, "month-to-month", contract)
        tenure = np.where(wallet, rng.integers(24, 35, rows), tenure)
        charges = np.where(wallet, rng.normal(70, 6, rows).round(2), charges)
        calls = np.where(wallet, rng.poisson(0.8, rows), calls)
    logit = 1.8 * (-0.9 + 1.1 * (contract == "month-to-month") - 0.035 * tenure + 0.025 * (charges - 65)
                   + 0.45 * calls + 0.5 * (payment == "e-check") - 0.6 * (contract == "two-year"))
    logit = np.where(wallet, np.where(age < 45, 3.0, -3.0), logit)  # wallet customers: the young leave
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({
        "customer_id": np.arange(rows) + 100_000 * (month + 1),
        "tenure_months": tenure, "monthly_charges": charges, "contract": contract,
        "support_calls": calls, "age": age, "payment_method": payment,
    })
    if labelled:
        frame["churned"] = churned.astype(int)
    return frame


def write_month(folder: str | Path, month: int, *, rows: int = 10_000, labelled: bool = True, seed: int = 0) -> Path:
    path = Path(folder) / f"month-{month:02d}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    churn_frame(rows, month=month, seed=seed, labelled=labelled).to_csv(path, index=False)
    return path
