"""The daily rhythm of traffic: a multiplier on the session rate by local time of day."""

from datetime import datetime, tzinfo


class DiurnalShape:
    """Relative traffic at any moment, from 24 hourly values rescaled to a mean of 1, so
    that a requested rate is the average over a whole day. Interpolates linearly between
    hours so traffic has no steps. `flat()` is a shape that is 1 all day."""

    def __init__(self, hourly: tuple[float, ...], zone: tzinfo) -> None:
        if len(hourly) != 24 or min(hourly) <= 0:
            raise ValueError("hourly traffic needs 24 positive values")
        mean = sum(hourly) / 24
        self.hourly = tuple(value / mean for value in hourly)
        self.zone = zone

    @classmethod
    def flat(cls, zone: tzinfo) -> "DiurnalShape":
        return cls((1.0,) * 24, zone)

    def multiplier(self, moment: datetime) -> float:
        local = moment.astimezone(self.zone)
        hour_of_day = local.hour + local.minute / 60 + local.second / 3600
        hour = int(hour_of_day)
        fraction = hour_of_day - hour
        return self.hourly[hour] * (1 - fraction) + self.hourly[(hour + 1) % 24] * fraction
