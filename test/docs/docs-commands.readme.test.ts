import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("README.md");
