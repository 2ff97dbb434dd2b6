"""The OpenAPI 3 description of the channel API (/api/v1), kept next to the code it describes."""

CLOCKS = ("response", "dispatch", "onsite", "resolve", "answer")

_error = {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "string"}, "message": {"type": "string"},
    "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}

_ticket = {
    "type": "object",
    "required": ["number", "status", "warranty", "sla"],
    "properties": {
        "number": {"type": "string", "pattern": r"^SV\d{8}-\d{4,}$", "example": "SV20261122-0007"},
        "status": {"type": "string", "example": "registered"},
        "kind": {"type": "string"}, "channel": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "warranty": {"type": "object", "required": ["in_warranty", "window", "reason"], "properties": {
            "in_warranty": {"type": "boolean", "nullable": True,
                            "description": "null: unknown (no purchase invoice, or one dated after the report)"},
            "window": {"type": "string", "enum": ["return", "exchange", "repair", "none"]},
            "reason": {"type": "string"}}},
        "sla": {"type": "object", "description": "clock name -> due time (ISO 8601 with offset)",
                "additionalProperties": {"type": "string", "format": "date-time"}},
    },
}

_new_ticket = {
    "type": "object",
    "required": ["kind", "fault", "customer", "unit"],
    "properties": {
        "kind": {"type": "string", "enum": ["repair", "installation", "consultation", "complaint",
                                            "return_exchange"]},
        "category": {"type": "string", "enum": ["quality", "size", "discomfort", "other"], "default": "quality"},
        "fault": {"type": "string", "maxLength": 2000},
        "occurred_at": {"type": "string", "format": "date-time"},
        "customer": {"type": "object", "required": ["name", "phone"], "description": (
            "Phone is the lookup key (R-CUS-1): a known phone registers on its customer, and another "
            "name given for it becomes the ticket's contact, never a second customer."), "properties": {
            "name": {"type": "string", "maxLength": 60}, "phone": {"type": "string", "maxLength": 30},
            "address": {"type": "string", "maxLength": 255}, "region": {"type": "string", "maxLength": 60},
            "area": {"type": "string", "enum": ["urban", "suburban"], "default": "urban"}}},
        "unit": {"type": "object", "required": ["model_code", "serial", "outlet_code"], "properties": {
            "model_code": {"type": "string"}, "serial": {"type": "string", "maxLength": 60},
            "invoice_no": {"type": "string", "maxLength": 60},
            "invoice_date": {"type": "string", "format": "date"}, "outlet_code": {"type": "string"},
            "price": {"type": "string", "example": "2599.00", "description": "Purchase price in yuan (R-TKT-2)."},
            "purchase_channel": {"type": "string", "enum": ["store", "dealer", "online", "project", "other"]},
            "size": {"type": "string", "maxLength": 10, "example": "42",
                     "description": "Shoes: the size bought (one model, many sizes); empty for appliances."}}},
        "consent": {"type": "boolean", "default": False, "description": (
            "PIPL: the customer agreed to receive service messages (the receipt with a tracking link, "
            "the appointment, mail-in shipments, the survey, the complaint's answer) by SMS, WeChat or "
            "e-mail. Recorded on the customer with this token's channel; false or absent changes nothing "
            "(an earlier consent stands). It does not undo the customer's opt-out, and a caller who is "
            "another contact on a known customer's phone does not agree for that customer.")},
    },
    "additionalProperties": True,
}


def _responses(*codes):
    text = {400: "Malformed request: not JSON, nested too deeply, or a NUL byte or unpaired surrogate "
                 "in a value", 401: "Missing, unknown or revoked bearer token",
            404: "No such ticket registered through this token's channel", 413: "Request body too large",
            422: "Validation failed, field by field",
            429: "Too many reads with this token: retry after the Retry-After seconds"}
    return {str(code): {"description": text[code], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code in codes}


def document(server_url: str = "/api/v1") -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "After-sales service backoffice — channel API", "version": "1.0.0",
                 "description": "Registers fault reports from channel integrations (WeChat, email "
                                "gateway, web shop). Each token belongs to one channel, which the "
                                "tickets it registers record. A token reads back the tickets of its own "
                                "channel, a limited number of times per minute."},
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _error, "Ticket": _ticket, "NewTicket": _new_ticket},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/tickets": {"post": {
                "operationId": "registerTicket", "summary": "Register a fault report",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewTicket"}}}},
                "responses": {"201": {"description": "Registered", "headers": {
                    "Location": {"schema": {"type": "string"}}}, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Ticket"}}}},
                    **_responses(400, 401, 413, 422)}}},
            "/tickets/{number}": {"get": {
                "operationId": "getTicket", "summary": "A ticket's status, warranty verdict and SLA",
                "parameters": [{"name": "number", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The ticket", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Ticket"}}}}, **_responses(400, 401, 404, 429)}}},
        },
    }
