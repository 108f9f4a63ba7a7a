from tests.factories import login


def test_stranger_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_member_signs_in_and_sees_company(client, make_account):
    account = make_account("member")
    response = login(client, account)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert account.company.name in page
