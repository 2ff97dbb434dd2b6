"""Our overrides of Flask-Admin's list templates change only what the Content-Security-Policy
needs (no inline onclick) and keep every stock piece of the list page working."""
from tests import factories as f


def test_list_page_keeps_stock_pieces_and_binds_ours_without_inline_handlers(login_as, session):
    part = f.make_part(session, name="点火针")
    session.commit()
    page = login_as("manager").get("/admin/part/?search=点火针").get_data(as_text=True)
    assert "onclick" not in page
    assert f'value="{part.id}"' in page and 'data-confirm="' in page  # our delete_row
    assert 'data-model-action="delete"' in page  # our bulk-action dropdown
    assert 'class="dropdown-item filter"' in page  # our filter menu
    assert 'name="search" value="点火针"' in page  # the stock search form
    assert 'id="filter_form"' in page and 'id="action_form"' in page  # stock filter and action forms
    assert f"/admin/part/edit/?id={part.id}&amp;url=" in page  # the stock edit_row
