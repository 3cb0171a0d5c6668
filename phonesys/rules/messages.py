"""The one wording of each refusal that two forms of a rule produce: the Python checks (manual
edits, Provision & Assign, the start check, bulk chunks, org documents) and the upload's set-based
DuckDB SQL (``phonesys.rules.validation.checks``).

Each is a ``str.format`` template. The upload formats it over its query's columns plus ``label``
(the column's header as the file spells it); the Python side formats the same template over the
facts it was given, so one fact reads the same whichever path refused it.
"""

from __future__ import annotations

from typing import Final

NUMBER_FORMAT: Final = ("{label} '{value}' must be 1 to 15 digits with an optional leading '+' (spaces are "
                        "ignored), e.g. +6512345678.")
NUMBER_SCIENTIFIC: Final = ("{label} '{value}' was turned into scientific notation by Excel and its digits "
                            "are lost; format the column as Text, type the numbers again and export again.")
EXT_KEY_EXISTS: Final = "Extension {ext_key} already exists in this organization; choose a free key."
USER_ASSIGNED: Final = ("User '{user_name}' already has extension {assigned_ext}; a user can have only one "
                        "extension.")
NUMBER_NOT_OWNED: Final = ("Number {number} is not a number license of this organization; "
                           "`phonesys export numbers` lists the available ones.")
NUMBER_ASSIGNED: Final = ("Number {number} is already assigned to extension {assigned_ext}; pick an available "
                          "number.")
