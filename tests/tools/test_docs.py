import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class TestGeneratedDocs:
    def test_settings_tables_match_the_structs(self):
        """Every settings table in docs/ and the package READMEs equals what the Structs give."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "gen-docs"), "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_check_detects_a_stale_table(self, tmp_path):
        """A table whose rows differ from the Struct is reported as stale."""
        import importlib.util
        from importlib.machinery import SourceFileLoader

        loader = SourceFileLoader("gen_docs", str(ROOT / "tools" / "gen-docs"))
        spec = importlib.util.spec_from_loader("gen_docs", loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        text = (
            "<!-- settings-table: news_log:LogSettings prefix=LOG_ -->\n"
            "| stale |\n<!-- /settings-table -->\n"
        )
        fresh = module.regenerate(text)
        assert fresh != text
        assert "`LOG_LEVEL`" in fresh
        assert module.regenerate(fresh) == fresh
