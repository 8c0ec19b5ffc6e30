"""Import a register from a sheet the office already keeps (`flask --app app sheets import`).

Columns are matched by their header: the mirror's own headers (so a mirrored tab imports back),
each field's verbose_name and name, plus an optional mapping file for other wordings. Every row
is checked with the register's own rules (`full_clean`, the same as the admin forms) and every
problem is reported as "第 N 行：字段：原因". A row whose natural key (for residents: unit and
name) is already in the register is skipped, so running the import twice adds nothing. Nothing
is written when any row has a problem, nor in a dry run.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from peewee import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    ForeignKeyField,
    IntegerField,
)

from models.base import (
    CleanedFieldMixin,
    DocumentNumberField,
    PhoneField,
    RuleError,
    office_tz,
    write_transaction,
)
from models.i18n import office_text
from models.register import save_record
from sync.mapping import KEY_HEADER, Mirror, header_of, resolve

# Bookkeeping columns no sheet sets.
SKIPPED_FIELDS = {"id", "estate", "created_at", "updated_at", "version", "created_by", "voided",
                  "void_reason", "voided_at", "voided_by"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M")
_TRUE = {"是", "有", "√", "true", "yes", "y", "1"}
_FALSE = {"否", "无", "×", "false", "no", "n", "0"}


class MappingError(Exception):
    """The sheet's columns cannot be matched to the register (the import stops at once)."""


@dataclass
class ImportReport:
    register: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    existing: int = 0
    errors: list[str] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        out = [f"导入{self.register}：共 {self.rows} 行数据"]
        if self.ignored_headers:
            out.append("未使用的列：" + "、".join(self.ignored_headers))
        if self.errors:
            out.append(f"发现 {len(self.errors)} 处问题，未导入任何记录：")
            out += [f"  {e}" for e in self.errors]
            return out
        verb = "将新增" if self.dry_run else "已新增"
        out.append(f"{verb} {self.created} 条，已存在（跳过）{self.existing} 条"
                   + ("（演练，未写入）" if self.dry_run else ""))
        return out


def importable_fields(mirror: Mirror) -> dict[str, Field]:
    """Fields a sheet may set: the model's own, and foreign keys a lookup is declared for."""
    fields = {}
    for name, f in mirror.model._meta.fields.items():
        if name in SKIPPED_FIELDS:
            continue
        if isinstance(f, ForeignKeyField) and name not in mirror.lookups:
            continue
        fields[name] = f
    return fields


def header_aliases(mirror: Mirror) -> dict[str, str]:
    """Every header a column may carry -> the field it sets."""
    fields = importable_fields(mirror)
    aliases: dict[str, str] = {}
    for name, f in fields.items():
        aliases[name] = name
        if f.verbose_name:
            aliases[office_text(f.verbose_name)] = name
        if isinstance(f, ForeignKeyField):
            lookup = f.rel_model._meta.fields[mirror.lookups[name]]
            aliases.setdefault(office_text(lookup.verbose_name) or lookup.name, name)
    for column in mirror.columns:
        if column.render is not None:
            continue  # a computed column (超期) is shown, never imported
        hops, last = resolve(mirror.model, column.path)
        if not hops and last.name in fields:
            aliases[header_of(mirror.model, column)] = last.name
        elif len(hops) == 1 and mirror.lookups.get(hops[0].name) == last.name:
            aliases[header_of(mirror.model, column)] = hops[0].name
    return aliases


def load_mapping(path: str) -> dict[str, str]:
    """A mapping file: JSON {"表格中的列名": "字段名或系统列名"}."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            mapping = json.load(handle)
    except OSError as exc:
        raise MappingError(f"无法读取映射文件：{exc.strerror or exc}") from exc
    except ValueError as exc:
        raise MappingError("映射文件不是有效的 JSON，应为 {\"表格中的列名\": \"字段\"}") from exc
    if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise MappingError("映射文件应为 {\"表格中的列名\": \"字段\"} 形式的 JSON 对象")
    return mapping


def match_columns(mirror: Mirror, header: list[str],
                  mapping: dict[str, str] | None = None) -> tuple[dict[int, str], list[str]]:
    """Column index -> field name, and the headers left unused."""
    aliases = header_aliases(mirror)
    for sheet_header, target in (mapping or {}).items():
        if target not in aliases:
            raise MappingError(f"映射文件中的“{target}”不是{mirror.title}的字段；可用："
                               + "、".join(sorted({k for k in aliases if not k.isascii()})))
        aliases[sheet_header] = aliases[target]
    columns: dict[int, str] = {}
    unused = []
    for index, text in enumerate(header):
        text = text.strip()
        name = aliases.get(text)
        if name is None:
            if text and text != KEY_HEADER:
                unused.append(text)
            continue
        if name in columns.values():
            raise MappingError(f"有两列都对应“{_label(mirror, name)}”，请在映射文件中指定用哪一列")
        columns[index] = name
    fields = importable_fields(mirror)
    missing = [n for n, f in fields.items()
               if n not in columns.values() and not f.null and f.default is None
               and not isinstance(f, BooleanField)]
    if missing:
        raise MappingError("表格缺少必需的列：" + "、".join(_label(mirror, n) for n in missing)
                           + "（可用映射文件指定列名）")
    return columns, unused


# A title, a date line or a blank row may sit above the header (#15): look this far down.
HEADER_SEARCH_ROWS = 10


def find_header(mirror: Mirror, values: list[list[str]], mapping: dict[str, str] | None = None
                ) -> tuple[int, dict[int, str], list[str]]:
    """(index of the header row, column index -> field, unused headers).

    The header is the first of the top rows whose cells name every required column (with the
    mapping file's names too). When none does, the error is the one of the row that named most.
    """
    best: tuple[int, MappingError] | None = None
    for index, row in enumerate(values[:HEADER_SEARCH_ROWS]):
        try:
            columns, unused = match_columns(mirror, row, mapping)
        except MappingError as exc:
            if "缺少必需的列" not in str(exc):
                raise  # a wrong mapping file or two columns for one field: say so at once
            aliases = {**header_aliases(mirror), **(mapping or {})}
            named = sum(1 for text in row if text.strip() in aliases)
            if best is None or named > best[0]:
                best = (named, exc)
            continue
        return index, columns, unused
    assert best is not None
    raise best[1]


def _label(mirror: Mirror, name: str) -> str:
    f = mirror.model._meta.fields[name]
    return office_text(f.verbose_name) or name


class _Converter:
    """Sheet text -> field value; lookups of related rows are cached per import."""

    def __init__(self, mirror: Mirror, estate_id: int) -> None:
        self.mirror = mirror
        self.estate_id = estate_id
        self.cache: dict[tuple[str, str], int | None] = {}

    def convert(self, f: Field, text: str):
        if text == "":
            return None
        if isinstance(f, ForeignKeyField):
            return self.lookup(f, text)
        if f.choices:
            by_label = {office_text(label): code for code, label in f.choices}
            codes = {str(code) for code, _ in f.choices}
            if text in codes:
                return text
            if text in by_label:
                return by_label[text]
            raise ValueError("应为以下之一：" + "、".join(by_label))
        if isinstance(f, DocumentNumberField | PhoneField) and "*" in text:
            raise ValueError("是打码后的号码，无法导入，请填写完整号码")
        if isinstance(f, BooleanField):
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError("应为“是”或“否”")
        if isinstance(f, IntegerField):
            try:
                return int(text.replace(",", ""))
            except ValueError:
                raise ValueError("应为整数") from None
        if isinstance(f, DecimalField) and not isinstance(f, CleanedFieldMixin):
            try:
                return Decimal(text.replace(",", ""))
            except InvalidOperation:
                raise ValueError("应为数字") from None
        if isinstance(f, DateField):
            return _parse(text, _DATE_FORMATS, "日期格式不正确（应为 2026-01-31）").date()
        if isinstance(f, DateTimeField):
            moment = _parse(text, _DATETIME_FORMATS, "时间格式不正确（应为 2026-01-31 14:30）")
            return moment.replace(tzinfo=office_tz())
        return text

    def lookup(self, f: ForeignKeyField, text: str) -> int:
        key = (f.name, text)
        if key not in self.cache:
            related = f.rel_model
            by = getattr(related, self.mirror.lookups[f.name])
            row = (related.select(related.id)
                   .where(by == text, related.estate == self.estate_id,
                          related.voided == False)  # noqa: E712
                   .first())
            self.cache[key] = row.id if row else None
        if self.cache[key] is None:
            raise ValueError(f"找不到“{text}”")
        return self.cache[key]


def _parse(text: str, formats: tuple[str, ...], message: str) -> dt.datetime:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(message)


def import_rows(mirror: Mirror, estate_id: int, values: list[list[str]], *,
                mapping: dict[str, str] | None = None, dry_run: bool = False,
                user=None) -> ImportReport:
    """Check every row, then (unless a dry run or any row is wrong) add the new ones."""
    report = ImportReport(mirror.title, dry_run=dry_run)
    if not values:
        raise MappingError("该工作表是空的")
    header_at, columns, report.ignored_headers = find_header(mirror, values, mapping)
    fields = mirror.model._meta.fields
    converter = _Converter(mirror, estate_id)
    seen: dict[tuple, int] = {}
    new = []
    for offset, row in enumerate(values[header_at + 1:]):
        line = header_at + offset + 2  # the sheet's own row number (the header's is header_at+1)
        cells = {name: (row[i].strip() if i < len(row) else "") for i, name in columns.items()}
        if not any(cells.values()):
            continue
        report.rows += 1
        data, errors = {}, {}
        for name, text in cells.items():
            try:
                value = converter.convert(fields[name], text)
            except ValueError as exc:
                errors[name] = f"“{text}”{exc}" if not str(exc).startswith("找不到") else str(exc)
                continue
            if value is not None:
                data[name] = value
        record = mirror.model(estate=estate_id, **data)
        try:
            record.full_clean()
        except RuleError as exc:
            for name, message in exc.errors.items():
                errors.setdefault(name, message)
        if errors:
            report.errors += [f"第 {line} 行：{_label(mirror, n) + '：' if n else ''}{m}"
                              for n, m in errors.items()]
            continue
        key = tuple(record.__data__.get(k) for k in mirror.natural_key)
        if key in seen:
            report.errors.append(f"第 {line} 行：与第 {seen[key]} 行重复")
            continue
        seen[key] = line
        if mirror.natural_key and _exists(mirror, estate_id, key):
            report.existing += 1
            continue
        new.append(record)
    report.created = len(new)
    if report.errors or dry_run:
        return report
    with write_transaction():
        for record in new:
            save_record(record, user)
    return report


def _exists(mirror: Mirror, estate_id: int, key: tuple) -> bool:
    model = mirror.model
    conditions = [getattr(model, name) == value for name, value in zip(
        mirror.natural_key, key, strict=True)]
    return model.select().where(model.estate == estate_id, model.voided == False,  # noqa: E712
                                *conditions).exists()
