"""ISO 4217 currency codes an amount may carry.

The set is ISO 4217 list one (current codes) as of 2026. It leaves out codes that are not
money a shop could take: XXX ("no currency") and XTS (reserved for testing), and codes
withdrawn from circulation (ANG, BGN, CUC, HRK, SLL, ZWL), whose late events would
otherwise be summed as if still spendable. Precious-metal and fund codes (XAU, BOV, ...)
stay in: they are valid, rare, and the revenue stage reports any currency it cannot
convert as unconverted.
"""

# One string rather than 175 quoted codes: easier to compare with the ISO list.
ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
    OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
    SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI
    UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF
    XPT XSU XUA YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)
