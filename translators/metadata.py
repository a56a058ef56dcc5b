"""Metadata messages: v1 ``Agent``/``AgentMetadataService`` <-> v2 ``Connector``/``ConnectorMetadataService``.

v1-only ``Agent.supported_task_types`` and ``is_sync`` are computed going to v1 (pass ``is_sync=``,
a bool or a callable on the connector name; the server passes the registry's answer). Everything
else is wire-identical (``agents`` is renamed ``connectors``, ``agent`` is ``connector``).
"""

from __future__ import annotations

from translators._fixups import AgentFixup
from translators._gen import v1, v2
from translators._pair import Pair

AGENT = Pair(v1.Agent, v2.Connector, fixups=[AgentFixup((), ())])
TASK_CATEGORY = Pair(v1.TaskCategory, v2.TaskCategory)
GET_AGENT_REQUEST = Pair(v1.GetAgentRequest, v2.GetConnectorRequest)
GET_AGENT_RESPONSE = Pair(v1.GetAgentResponse, v2.GetConnectorResponse, fixups=[AgentFixup(("agent",), ("connector",))])
LIST_AGENTS_REQUEST = Pair(v1.ListAgentsRequest, v2.ListConnectorsRequest)
LIST_AGENTS_RESPONSE = Pair(v1.ListAgentsResponse, v2.ListConnectorsResponse, fixups=[AgentFixup(("agents",), ("connectors",))])

agent_to_v2 = connector_to_v2 = AGENT.to_v2
connector_to_v1 = agent_to_v1 = AGENT.to_v1
agent_to_v2_from_wire = AGENT.to_v2_from_wire
connector_to_v1_from_wire = AGENT.to_v1_from_wire
task_category_to_v2 = TASK_CATEGORY.to_v2
task_category_to_v1 = TASK_CATEGORY.to_v1
get_agent_request_to_v2 = GET_AGENT_REQUEST.to_v2
get_connector_request_to_v1 = GET_AGENT_REQUEST.to_v1
get_agent_request_to_v2_from_wire = GET_AGENT_REQUEST.to_v2_from_wire
get_connector_request_to_v1_from_wire = GET_AGENT_REQUEST.to_v1_from_wire
get_agent_response_to_v2 = GET_AGENT_RESPONSE.to_v2
get_connector_response_to_v1 = GET_AGENT_RESPONSE.to_v1
get_agent_response_to_v2_from_wire = GET_AGENT_RESPONSE.to_v2_from_wire
get_connector_response_to_v1_from_wire = GET_AGENT_RESPONSE.to_v1_from_wire
list_agents_request_to_v2 = LIST_AGENTS_REQUEST.to_v2
list_connectors_request_to_v1 = LIST_AGENTS_REQUEST.to_v1
list_agents_request_to_v2_from_wire = LIST_AGENTS_REQUEST.to_v2_from_wire
list_connectors_request_to_v1_from_wire = LIST_AGENTS_REQUEST.to_v1_from_wire
list_agents_response_to_v2 = LIST_AGENTS_RESPONSE.to_v2
list_connectors_response_to_v1 = LIST_AGENTS_RESPONSE.to_v1
list_agents_response_to_v2_from_wire = LIST_AGENTS_RESPONSE.to_v2_from_wire
list_connectors_response_to_v1_from_wire = LIST_AGENTS_RESPONSE.to_v1_from_wire

PAIRS = (AGENT, TASK_CATEGORY, GET_AGENT_REQUEST, GET_AGENT_RESPONSE, LIST_AGENTS_REQUEST, LIST_AGENTS_RESPONSE)
