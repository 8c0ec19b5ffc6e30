"""How a register grid lists its rows: capped counts, one string per row, icon links built once
per page, per-request filter options and the nightly job's 超时 marks (#14 items 1 and 2).

`GridMixin` sits between `views.base.SecureModelView` and Flask-Admin's ModelView; the base keeps
permissions, scoping and forms."""

from __future__ import annotations

from urllib.parse import quote

from flask import g, request
from flask_admin.contrib.peewee.filters import FilterEqual, FilterNotEqual
from flask_admin.model.template import BaseListRowAction, EditRowAction, ViewRowAction
from flask_babel import gettext
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape
from peewee import SQL, ForeignKeyField, Select, fn

from models.search import number_clause, serial_clause, split_number_search
from views.display import shown_relations
from views.form_bounds import fits_filter
from views.scoping import RelationFilter, VoidStateFilter


class CappedCount(int):
    """A grid's count past its cap: the cap as a number, "1000+" on the page."""

    def __str__(self) -> str:
        return f"{int(self)}+"


def capped_count(query, cap: int, *, keep_order: bool = False) -> int:
    """The query's rows counted up to cap + 1 (one statement: SELECT COUNT(1) FROM
    (SELECT 1 … LIMIT cap + 1)); past the cap, a CappedCount. keep_order: count in the
    query's own order, when that order is what lets the planner read an index that holds only
    the rows counted (the front desk's queues, migration 026)."""
    if not keep_order:
        found = query.order_by().limit(cap + 1).offset(None).count()
    else:  # peewee's count() drops the ORDER BY: the same statement, kept in order
        rows = query.limit(cap + 1).offset(None).select(SQL("1")).alias("_wrapped")
        found = Select([rows], [fn.COUNT(SQL("1"))]).scalar(query.model._meta.database)
    return CappedCount(cap) if found > cap else found


class PageLink(BaseListRowAction):
    """A grid row's icon link (details, edit, void). Its URL is built once per page with a
    stand-in id and the row's id put in its place: url_for per row and icon was a sixth of a
    50-row grid's CPU (#14 item 1). The HTML is Flask-Admin's row_actions.link macro's."""

    STAND_IN = "0ROWID0"

    def __init__(self, endpoint: str, icon_class: str, title, return_url: bool = True):
        super().__init__(title=title)
        self.endpoint, self.icon_class, self.return_url = endpoint, icon_class, return_url

    def html_around_id(self, context) -> tuple[str, str]:
        """The link's HTML before and after the row's id, escaped, made once per page."""
        view = context.resolve("admin_view")
        args = {"id": self.STAND_IN}
        if self.return_url:
            args["url"] = context.resolve("return_url")
        key = (view.endpoint, self.endpoint, args.get("url"))
        made = g.setdefault("page_link_html", {})
        if key not in made:
            # The id comes first in the query string, before the (encoded) return URL.
            head, _sep, tail = view.get_url(self.endpoint, **args).partition(self.STAND_IN)
            made[key] = (f'<a class="icon" href="{escape(head)}',
                         f'{escape(tail)}" title="{escape(self.title or "")}">\n'
                         f'  <span class="{escape(self.icon_class)}"></span>\n</a>')
        return made[key]

    def render(self, context, row_id, row):
        head, tail = self.html_around_id(context)
        return Markup(head + quote(str(row_id), safe="") + tail)


class GridMixin:
    """The list side of every register grid (see the module docstring)."""

    # Filters added from outside the view (the nightly job's 超时 filter; see mark_rows).
    extra_filters: list = []

    # A register's numbers, prefix -> column, e.g. {"WX": "number"}: a search word that is one
    # of those numbers (or the start of one, or a serial of 5–8 digits) is looked up on its
    # column by the column's index, not as a substring of every searchable column (#14;
    # models.search.split_number_search, serial_clause).
    column_number_search: dict[str, str] = {}
    # Whether 5–8 digits typed alone are a serial of those numbers (else: searched as text).
    serial_search = True

    def search_window(self, rows, text: str, filters, *, shown: bool):
        """The rows a text search (the words left after the numbers) reads: all of them here;
        a grid over a table that grows without end bounds it (the audit log)."""
        return rows

    def number_condition(self, word: str):
        """The rows a number typed into the search means (a whole number, the start of one, or
        a serial), as a condition an index serves; None: no row."""
        if word.isdigit():  # a serial: each of the register's numbers with it
            columns = {prefix: getattr(self.model, name)
                       for prefix, name in self.column_number_search.items()}
            return serial_clause(columns, word, current_user.estate_ids())
        return number_clause(getattr(self.model, self.column_number_search[word[:2]]), word)

    def get_list_row_actions(self):
        # Flask-Admin's own (details, edit: a Jinja macro and url_for per row and icon) give
        # way to PageLink, which builds each icon's URL once per page (#14 item 1).
        actions = []
        if self.can_view_details:
            actions.append(PageLink(".details_view", "fa fa-eye glyphicon glyphicon-eye-open",
                                    ViewRowAction().title))  # Flask-Admin's own words
        if self.can_edit:
            actions.append(PageLink(".edit_view", "fa fa-pencil glyphicon glyphicon-pencil",
                                    EditRowAction().title))
        if self.can_void:
            actions.append(PageLink(".void_view", "fa fa-ban", gettext("作废"), return_url=False))
        return actions

    def _get_column_by_idx(self, idx):
        # Flask-Admin takes ?sort=N as the Nth shown column and looks it up among the sortable
        # ones without asking: a computed column or a relation with no sort field (the demand
        # grid's ?sort=3) was a KeyError, a 500. A column the grid cannot sort by gives the
        # default order, for the page and its exports alike.
        column = super()._get_column_by_idx(idx)
        return column if column and column[0] in self._sortable_columns else None

    def _get_default_order(self):
        # A 超时 link lists the rule's flagged rows in the grid's order from the flags' own copy
        # of it (jobs.views.OverdueFilter): the filter's ORDER BY stays.
        if g.get("filter_ordered"):
            return None
        return super()._get_default_order()

    def sort_chosen(self) -> bool:
        """Whether this request's ?sort= names a column the grid sorts by (else: the default
        order, which a view's get_query may build itself)."""
        return self._get_column_by_idx(request.args.get("sort", None, type=int)) is not None

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        filters = [f for f in (filters or []) if fits_filter(self._filters[f[0]], f[2])]
        g.void_filter_active = any(isinstance(self._filters[f[0]], VoidStateFilter)
                                   for f in filters)
        numbers = []
        if search and self.column_number_search:
            numbers, search = split_number_search(search, self.column_number_search,
                                                  serials=self.serial_search)
        # A view's get_query may order a number's few rows differently (views/work_orders.py).
        g.number_search = bool(numbers)
        # A filter that orders the rows in the grid's order itself (a 超时 link of one rule,
        # jobs.views.OverdueFilter) keeps its ORDER BY (_get_default_order) and its count.
        g.filter_ordered = any(self._filters[f[0]].orders_rows(f[2]) for f in filters
                               if hasattr(self._filters[f[0]], "orders_rows"))
        _none, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=False, page_size=page_size)
        for word in numbers:
            found = self.number_condition(word)
            rows = rows.where(found if found is not None else SQL("1 = 0"))
        rows = self.search_window(rows, search or "", filters, shown=execute)
        count = self.capped_count(rows) if execute and self.list_counted else None
        if execute:
            wanted = self.list_fields()  # only the columns the page shows (#14 throughput)
            rows = list((rows if wanted is None else self.select_only(rows, wanted)).execute())
            # The page's ids, so per-row lookups (the 超时 badge, mark_rows) ask for these rows
            # only, in one query per page (#14 item 2).
            g.setdefault("page_row_ids", {})[self.model] = [row.id for row in rows]
            # The related names the page shows, one query per column (#14 item 4).
            self.prepare_rows(rows, shown_relations(self))
        return count, rows

    # -- drawing a grid's rows (#14 item 1) ------------------------------------------------------

    @pass_context
    def row_html(self, context, row):
        """One grid row's cells as one string, the HTML of Flask-Admin's list_row block (its
        icons, then each column's value escaped as Jinja would), or None where that block is
        still needed: bulk actions' checkboxes, editable cells, another kind of row action.
        Drawn in Jinja, the cells of a 50-row page were a quarter of its CPU."""
        actions = context.resolve("list_row_actions")
        if context.resolve("actions") or self.column_editable_list \
                or not all(isinstance(a, PageLink) for a in actions):
            return None
        pk = self.get_pk_value(row)
        parts = []
        if self.column_display_actions:
            parts.append('<td class="list-buttons-column">')
            parts.extend(action.render(context, pk, row) for action in actions)
            parts.append("</td>")
        formatters, type_formatters = self.column_formatters, self.column_type_formatters
        for name, _label in context.resolve("list_columns"):
            value = self._get_list_value(context, row, name, formatters, type_formatters)
            parts.append(f'<td class="col-{escape(name)}">{escape(value)}</td>')
        return Markup("".join(parts))

    # -- counting (#14 item 2) -----------------------------------------------------------------

    # A grid counts its matching rows up to count_cap and shows "1000+" beyond, with the
    # previous/next pager: the count stops after count_cap + 1 rows instead of scanning a
    # million on every page view. list_counted = False (the demand grid): no count at all.
    count_cap = 1000
    list_counted = True

    @property
    def simple_list_pager(self) -> bool:
        # Flask-Admin's own exact COUNT(*) never runs; get_list counts, capped.
        return True

    def capped_count(self, page_query) -> int:
        """The rows the page's query matches, counted up to count_cap + 1 (one statement:
        SELECT COUNT(1) FROM (SELECT 1 … LIMIT cap + 1)). A 超时 link counts in its flags'
        order: unordered, SQLite without statistics walked the register's estate index and
        asked each row for its flag (jobs.views.OverdueFilter)."""
        return capped_count(page_query, self.count_cap, keep_order=bool(g.get("filter_ordered")))

    def render(self, template, **kwargs):
        if isinstance(kwargs.get("count"), CappedCount):
            kwargs["num_pages"] = None  # past the cap: the previous/next pager
        return super().render(template, **kwargs)

    def scaffold_filters(self, name):
        if name == "voided":
            return [VoidStateFilter(self.model.voided)]
        attr = getattr(self.model, name, None) if isinstance(name, str) else name
        if attr is not None and getattr(attr, "choices", None):
            # A choice field filters by its labels from a drop-down, not by free text.
            label = self.get_column_name(attr.name)
            return [FilterEqual(attr, label, options=attr.choices),
                    FilterNotEqual(attr, label, options=attr.choices)]
        if isinstance(attr, ForeignKeyField):
            return [RelationFilter(attr, self.get_column_name(attr.name))]
        if attr is not None and getattr(attr, "model", None) is self.model:
            # Our field subclasses (AwareDateTimeField, MoneyField…) filter like their base.
            for klass in type(attr).__mro__:
                if klass.__name__.lower() in self.filter_converter.converters:
                    return self.filter_converter.convert(klass.__name__, attr,
                                                         self.get_column_name(attr.name))
        return super().scaffold_filters(name)

    def _get_filter_groups(self):
        # Flask-Admin computes filter options once at start-up; a relation's options depend on
        # who is looking (their estates), so they are filled in per request.
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[int(item["index"])]
                if isinstance(flt, RelationFilter):
                    item["options"] = flt.scoped_options()
        return groups

    def mark_rows(self, row_filter, badge_for) -> None:
        """Add a filter, and a badge before the first column's value of each marked row
        (`badge_for(row)` -> Markup or None): the nightly job's 超时 flags."""
        self.extra_filters = [*self.extra_filters, row_filter]
        first = next(iter(self.column_list or self.scaffold_list_columns()))
        earlier = (self.column_formatters or {}).get(first)

        def marked(view, context, row, name):
            value = earlier(view, context, row, name) if earlier else getattr(row, name)
            value = view._shown_value(row, name, value)
            badge = badge_for(row)
            return Markup("{} {}").format(badge, value) if badge else value

        self.column_formatters = {**(self.column_formatters or {}), first: marked}
        self._refresh_cache()

    def get_filters(self):
        filters = [*self.extra_filters, *(super().get_filters() or [])]
        if self.has_void and not any(isinstance(f, VoidStateFilter) for f in filters):
            filters.append(VoidStateFilter(self.model.voided))
        return filters
