from qa_engine.models import Document, DocumentMeta
from qa_engine.retrieve.english_names import english_aliases, legal_free
from qa_engine.retrieve.glossary import PhraseTable
from qa_engine.retrieve.query import CompanyIndex

NAMES = [
    "Tsingtao Brewery Company Limited",
    "Shanghai Milkground Food Tech Co., Ltd.",
    "China CITIC Bank Corporation Limited",
    "Spring Airlines Co., Ltd.",
    "Shanghai Songz Automobile Air Conditioning Co., Ltd.",
    "Fujian Golden Dragon Rare-Earth Co., Ltd.",
    "ZWSOFT Co., Ltd. (Guangzhou)",
]


def test_legal_form_and_brackets_are_dropped():
    assert legal_free("Tsingtao Brewery Company Limited") == "tsingtao brewery"
    assert legal_free("China Northern Rare Earth (Group) High-Tech Co., Ltd.") == "china northern rare earth high-tech"
    assert legal_free("ZWSOFT Co., Ltd. (Guangzhou)") == "zwsoft"


def test_short_forms_an_analyst_types():
    aliases = english_aliases(NAMES)
    assert {"tsingtao brewery", "tsingtao"} <= aliases["Tsingtao Brewery Company Limited"]
    assert {"milkground", "milkground food tech"} <= aliases["Shanghai Milkground Food Tech Co., Ltd."]
    assert {"china citic bank", "citic bank", "citic"} <= aliases["China CITIC Bank Corporation Limited"]
    assert aliases["ZWSOFT Co., Ltd. (Guangzhou)"] == {"zwsoft"}


def test_places_and_everyday_words_never_name_a_company_alone():
    every_alias = set().union(*english_aliases(NAMES).values())
    for word in ("spring", "shanghai", "china", "bank", "automobile", "rare-earth", "golden"):
        assert word not in every_alias
    assert "spring airlines" in every_alias


def test_a_word_two_companies_share_is_not_an_alias():
    aliases = english_aliases(["Haitong Securities Co., Ltd.", "Haitong Bank Co., Ltd."])
    assert "haitong" not in aliases["Haitong Securities Co., Ltd."]
    assert "haitong securities" in aliases["Haitong Securities Co., Ltd."]


def _doc(doc_id: str, english_name: str, company: str) -> Document:
    return Document(doc_id=doc_id, source=f"{doc_id}.txt", text="", meta=DocumentMeta(company=company, english_name=english_name))


def test_company_index_resolves_short_english_names():
    documents = {
        "a": _doc("a", "Tsingtao Brewery Company Limited", "青岛啤酒股份有限公司"),
        "b": _doc("b", "Shanghai Milkground Food Tech Co., Ltd.", "上海妙可蓝多食品科技股份有限公司"),
    }
    companies = CompanyIndex(documents, PhraseTable({}))
    assert companies.docs_named_in("Who does Tsingtao license its trademark to?") == {"a"}
    assert companies.docs_named_in("What will Milkground's shareholders vote on?") == {"b"}
    assert companies.docs_named_in("What did Shanghai companies report?") == set()
