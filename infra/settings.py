"""One validated settings object, read from GREENLANE_* environment variables; only entry points read it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-change-me"
DEV_DATABASE_PASSWORD = "greenlane"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENLANE_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    kafka_bootstrap: str = "127.0.0.1:59092"
    database_url: str = "postgresql+psycopg://greenlane:greenlane@127.0.0.1:55432/greenlane"
    topic_prefix: str = "greenlane"
    topic_partitions: int = Field(default=6, ge=1, le=256)
    topic_replication: int = Field(default=1, ge=1, le=5)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_workers: int = Field(default=1, ge=1, le=64)  # uvicorn worker processes
    streams_web_port: int = Field(default=6066, ge=1, le=65535)
    streams_app_id: str = "greenlane-streams"
    streams_data_dir: Path = ROOT / ".local" / "streams"
    geodata_dir: Path = ROOT / "infra" / "data" / "vn"
    province_code: str = "79"
    shortage_days: float = Field(default=3.0, gt=0)
    shortage_days_perishable: float = Field(default=1.0, gt=0)
    shortage_days_by_item: dict[str, float] = Field(default_factory=dict)
    price_alert_margin: float = Field(default=0.20, ge=0)
    missing_report_hours: float = Field(default=24.0, gt=0)
    plan_request_debounce_s: float = Field(default=60.0, ge=0)
    coverage_flush_ms: int = Field(default=200, ge=10, le=10_000)
    optimizer_group: str = "greenlane-optimizer"
    optimizer_heartbeat_file: Path = ROOT / ".local" / "optimizer.alive"
    optimizer_metrics_port: int = Field(default=9108, ge=0, le=65535)  # an optimizer worker's GET /metrics; 0: off
    plan_time_limit_s: float = Field(default=20.0, gt=0, le=600)
    curfew_start_hour: float = Field(default=18.0, ge=0, le=24)  # no vehicle drives from here ...
    curfew_end_hour: float = Field(default=6.0, ge=0, le=24)  # ... until here, the next morning
    target_days_of_supply: float = Field(default=7.0, gt=0)
    # greenlane: lexicographic max-min days of supply; proportional / fcfs: the baselines (optimizer/baselines.py)
    allocation_policy: Literal["greenlane", "proportional", "fcfs"] = "greenlane"
    # A district's new plan revises the approved plans its trucks are driving, from where they are (their
    # drivers' confirmations); off: later plans of the day use idle trucks only and add up.
    replan_driving: bool = True
    # Exercise mode: the optimizer plans at the time written in this file (ISO 8601), a simulated clock such as the
    # scenario runner's; unset: the wall clock.
    clock_file: Path | None = None
    osrm_url: str | None = None  # an OSRM server for road travel times; None: straight lines × circuity
    secret_key: str = DEV_SECRET
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"  # json: one object per line (infra/logs.py)
    # API rate limits, per API process (api/ratelimit.py): failed authentications per client address in a window,
    # then 429 until it passes; POST/PUT requests per token, a bucket of `submit_burst` refilled per minute.
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window_s: float = Field(default=300.0, gt=0)
    submit_rate_per_minute: float = Field(default=60.0, gt=0)
    submit_burst: int = Field(default=120, ge=1)

    def driving_hours(self) -> tuple[int, int]:
        """Seconds since midnight between which vehicles may drive: from the curfew's end to its start."""
        end = self.curfew_start_hour if self.curfew_start_hour > self.curfew_end_hour else 24.0
        return round(self.curfew_end_hour * 3600), round(end * 3600)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        """Only development runs on the published defaults: a test or production process with them refuses to
        start, naming the variable."""
        problems = []
        if self.environment != "development" and self.secret_key == DEV_SECRET:
            problems.append(f"GREENLANE_SECRET_KEY is the development default; set a random value of 32+ characters "
                            f"(GREENLANE_ENVIRONMENT={self.environment})")
        elif self.environment == "production" and len(self.secret_key) < 32:
            problems.append("GREENLANE_SECRET_KEY must be a random value of 32+ characters in production")
        if self.environment == "production" and urlsplit(self.database_url).password == DEV_DATABASE_PASSWORD:
            problems.append("GREENLANE_DATABASE_URL has the development password; set the database's own password "
                            "in production")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
