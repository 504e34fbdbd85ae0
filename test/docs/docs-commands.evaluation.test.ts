import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/evaluation.md");
