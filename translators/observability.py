"""Task metrics and logs messages: ``GetTaskMetrics*`` and ``GetTaskLogs*``.

Wire-identical but for the deprecated v1 ``task_type`` (fix-up: it fills ``task_category``) and the
log body's ``structured_lines`` (v1, ``admin.LogLine``) being ``lines`` in v2
(``logs.dataplane.LogLine``, whose v2-only ``short_pod_name`` travels as an unknown field).
"""

from __future__ import annotations

from translators._fixups import TaskTypeFixup
from translators._gen import v1, v2
from translators._pair import Pair

GET_TASK_METRICS_REQUEST = Pair(v1.GetTaskMetricsRequest, v2.GetTaskMetricsRequest, fixups=[TaskTypeFixup()])
GET_TASK_METRICS_RESPONSE = Pair(v1.GetTaskMetricsResponse, v2.GetTaskMetricsResponse)
GET_TASK_LOGS_REQUEST = Pair(v1.GetTaskLogsRequest, v2.GetTaskLogsRequest, fixups=[TaskTypeFixup()])
GET_TASK_LOGS_RESPONSE = Pair(v1.GetTaskLogsResponse, v2.GetTaskLogsResponse)

get_task_metrics_request_to_v2 = GET_TASK_METRICS_REQUEST.to_v2
get_task_metrics_request_to_v1 = GET_TASK_METRICS_REQUEST.to_v1
get_task_metrics_request_to_v2_from_wire = GET_TASK_METRICS_REQUEST.to_v2_from_wire
get_task_metrics_request_to_v1_from_wire = GET_TASK_METRICS_REQUEST.to_v1_from_wire
get_task_metrics_response_to_v2 = GET_TASK_METRICS_RESPONSE.to_v2
get_task_metrics_response_to_v1 = GET_TASK_METRICS_RESPONSE.to_v1
get_task_metrics_response_to_v2_from_wire = GET_TASK_METRICS_RESPONSE.to_v2_from_wire
get_task_metrics_response_to_v1_from_wire = GET_TASK_METRICS_RESPONSE.to_v1_from_wire
get_task_logs_request_to_v2 = GET_TASK_LOGS_REQUEST.to_v2
get_task_logs_request_to_v1 = GET_TASK_LOGS_REQUEST.to_v1
get_task_logs_request_to_v2_from_wire = GET_TASK_LOGS_REQUEST.to_v2_from_wire
get_task_logs_request_to_v1_from_wire = GET_TASK_LOGS_REQUEST.to_v1_from_wire
get_task_logs_response_to_v2 = GET_TASK_LOGS_RESPONSE.to_v2
get_task_logs_response_to_v1 = GET_TASK_LOGS_RESPONSE.to_v1
get_task_logs_response_to_v2_from_wire = GET_TASK_LOGS_RESPONSE.to_v2_from_wire
get_task_logs_response_to_v1_from_wire = GET_TASK_LOGS_RESPONSE.to_v1_from_wire

PAIRS = (GET_TASK_METRICS_REQUEST, GET_TASK_METRICS_RESPONSE, GET_TASK_LOGS_REQUEST, GET_TASK_LOGS_RESPONSE)
