"""The device grant's interface as the issue names it: the property, the GrantType value,
the built-in GetOAuthDeviceCode with its inputs and outputs, the operation, DeviceCode
as a secret everywhere, and the words the person is shown."""

from __future__ import annotations

import pytest

import cdata_oauth
from cdata_oauth.catalog.lookup import builtin_scripts
from cdata_oauth.config.inputs import Inputs
from cdata_oauth.config.properties import REGISTRY, ConnectionProperties
from cdata_oauth.oauth.device import DeviceCode, parse_device_code, prompt
from cdata_oauth.oauth.operations import BUILTIN_OPERATIONS
from cdata_oauth.redaction import MASK, is_secret_name
from tests.unit.test_assertions import CLIENT_ASSERTION_INPUTS

TRANSPORT_INPUTS = ["Timeout", "LogFile", "Proxy_Auto", "Proxy_Server", "Proxy_Port",
                    "Proxy_User", "Proxy_Password", "Proxy_AuthScheme", "Proxy_AuthToken",
                    "Proxy_SSLType", "Firewall_Type", "Firewall_Server", "Firewall_Port",
                    "Firewall_User", "Firewall_Password"]


def test_grant_type_offers_device_and_the_device_authorization_url_is_a_property() -> None:
    assert "DEVICE" in REGISTRY["granttype"].allowed
    spec = REGISTRY["oauthdeviceauthorizationurl"]
    assert spec.name == "OAuthDeviceAuthorizationURL" and not spec.secret
    assert ConnectionProperties({"granttype": "device"})["GrantType"] == "DEVICE"


def test_get_oauth_device_code_declares_the_inputs_and_outputs_of_the_issue() -> None:
    script = builtin_scripts()["getoauthdevicecode"]
    assert script.operation == "oauthGetDeviceCode"
    inputs = [i.name for i in script.inputs]
    assert inputs[:4] == ["OAuthClientId", "OAuthClientSecret", "OAuthDeviceAuthorizationURL",
                          "Scope"]
    assert tuple(inputs[4:12]) == CLIENT_ASSERTION_INPUTS
    assert inputs[12:14] == ["OtherOptions", "OAuthParam:*"]
    assert inputs[14:] == TRANSPORT_INPUTS
    assert [o.name for o in script.outputs] == [
        "DeviceCode", "UserCode", "VerificationURI", "VerificationURIComplete", "ExpiresIn",
        "Interval", "OAuthParam:*"]
    assert all(i.description for i in script.inputs)
    assert all(o.description for o in script.outputs)
    assert BUILTIN_OPERATIONS["oauthgetdevicecode"] == {
        "2.0": "cdata_oauth.oauth.device:get_device_code"}


def test_get_oauth_access_token_takes_a_secret_device_code_and_the_device_url() -> None:
    script = builtin_scripts()["getoauthaccesstoken"]
    device_code = script.find_input("DeviceCode")
    assert device_code is not None and device_code.secret
    assert script.find_input("OAuthDeviceAuthorizationURL") is not None
    grant = script.find_input("GrantType")
    assert grant is not None and "DEVICE" in grant.values


@pytest.mark.parametrize("name", ["DeviceCode", "device_code", "devicecode"])
def test_device_code_is_a_secret_name(name: str) -> None:
    assert is_secret_name(name)


def test_device_code_is_masked_in_the_repr_of_inputs() -> None:
    inputs = Inputs({"DeviceCode": "dc-very-secret-value", "GrantType": "DEVICE"})
    assert "dc-very-secret-value" not in repr(inputs) and MASK in repr(inputs)
    assert inputs.secrets() == ["dc-very-secret-value"]


def test_an_unknown_grant_type_lists_device() -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match="DEVICE"):
        ConnectionProperties({"GrantType": "DEVICES"})


def _code(**changes: object) -> DeviceCode:
    fields = {"device_code": "dc", "user_code": "WDJB-MJHT",
              "verification_uri": "https://provider.example/device", "expires_in": 900}
    fields.update(changes)
    return DeviceCode(str(fields["device_code"]), str(fields["user_code"]),
                      str(fields["verification_uri"]),
                      fields.get("verification_uri_complete"),  # type: ignore[arg-type]
                      int(fields["expires_in"]), 5.0, {}, 0.0)  # type: ignore[call-overload]


def test_the_prompt_names_the_uri_and_the_user_code() -> None:
    assert prompt(_code()) == ("To sign in, open https://provider.example/device and enter "
                               "WDJB-MJHT. The code is valid for 15 minutes.")


def test_the_prompt_adds_the_complete_uri_when_there_is_one() -> None:
    text = prompt(_code(verification_uri_complete="https://provider.example/d?c=WDJB",
                        expires_in=90))
    assert text.startswith("To sign in, open https://provider.example/device and enter "
                           "WDJB-MJHT (or open https://provider.example/d?c=WDJB")
    assert text.endswith("valid for 90 seconds.")


def test_numeric_text_is_accepted_for_expires_in_and_interval() -> None:
    code = parse_device_code(200, {}, '{"device_code": "d", "user_code": "u", '
                             '"verification_uri": "https://p.example/d", '
                             '"expires_in": "1800", "interval": "2.5"}', [], "The endpoint")
    assert code.expires_in == 1800 and code.interval == 2.5
    assert code.outputs()["Interval"] == 2.5


def test_a_redirect_from_the_device_endpoint_is_not_followed() -> None:
    with pytest.raises(cdata_oauth.OperationalError, match="redirect"):
        parse_device_code(302, {"Location": "https://elsewhere.example/"}, "", [],
                          "The endpoint")
