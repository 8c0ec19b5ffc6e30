"""The demand register's choices (R-DEM-1 channels, R-DEM-2 kinds, R-DEM-3 categories) and its
states, apart from the model so views, jobs and the mirror can name them without the model."""

from __future__ import annotations

from models.i18n import L_

# R-DEM-1 intake channels.
CHANNELS = [
    ("phone", L_("电话")),
    ("visit", L_("来访")),
    ("outside", L_("外部信息")),
    ("staff", L_("部门/员工反馈")),
    ("owner_suggestion", L_("业主建议")),
    ("proactive", L_("主任/主管走访")),
    ("committee", L_("业委会")),
    ("industry", L_("公司/行业信息")),
    ("owner_self", L_("业主自助")),  # the owner's own H5 (issue #17)
]
# R-DEM-2 kinds; complaints are a subset of demand information.
KINDS = [
    ("consultation", L_("咨询")),
    ("help", L_("求援")),
    ("complaint", L_("投诉")),
    ("suggestion", L_("建议")),
]
# R-DEM-3 categories: daily-management requests, then owner needs.
CATEGORIES = [
    ("security", L_("保安")),
    ("environment", L_("环境/保洁")),
    ("engineering", L_("工程")),
    ("customer_service", L_("客服")),
    ("neighbour", L_("邻里关系")),
    ("developer", L_("地产遗留")),
    ("outside", L_("外协事宜")),
    ("proposal", L_("合理化建议")),
]
STATUSES = [
    ("open", L_("待派工")),
    ("dispatched", L_("处理中")),
    ("completed", L_("待回访")),
    ("invalid", L_("无效待告知")),
    ("closed", L_("已关闭")),
]
STATUS_LABELS = dict(STATUSES)
